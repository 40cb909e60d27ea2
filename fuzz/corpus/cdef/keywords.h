int while;
typedef int double;
extern static int x;
long long long y;
signed float z;
