enum { A = 0xffffffffffffffff, B };
enum { C = 1 / 0 };
int x[-1];
