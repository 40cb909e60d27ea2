# 1 "x.c"
# 68 "/usr/include/link.h" 1 3 4
int a;
#line 4294967295 "big.h"
int b;
# 99999999999 "ovf.h"
#line 7
# 12x "no.h"
int c;
