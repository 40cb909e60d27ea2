struct anon {
  int kind;
  union { int i; double d; struct { char a, b; }; };
  struct { char x; } named;
  struct { short s; };
};
typedef struct { int a; } anon_t;
typedef union { long l; void *p; } uanon_t;
