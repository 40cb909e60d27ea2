typedef int myint, *pint, arr3[3];
typedef unsigned long size_t;
typedef myint myint2;
typedef int myint;
typedef const volatile char *cvp;
