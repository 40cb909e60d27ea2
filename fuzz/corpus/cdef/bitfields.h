struct bf { unsigned a : 3; unsigned b : 5; unsigned : 0; unsigned c : 4; int d : 1; };
struct bf2 { char a; int b : 4; long long c : 40; };
struct bf3 { char a; unsigned : 4; char b; };
struct bf4 { _Bool f : 1; enum color { RED, GREEN } col : 2; unsigned long long big : 63; };
struct __attribute__((packed)) bf5 { char a; int b : 31; char c : 2; };
