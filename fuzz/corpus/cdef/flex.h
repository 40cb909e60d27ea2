struct flex { unsigned long n; char data[]; };
struct flex2 { int n; double d[]; };
struct zero { int n; char z[0]; };
struct hdr { struct flex2 *p; int m[2][3]; };
