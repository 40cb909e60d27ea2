int a;
struct s {
  int x;
};
#define CRLF 1
