/* Reached only through the probe target's include directories. */
int probe_inc(void);
