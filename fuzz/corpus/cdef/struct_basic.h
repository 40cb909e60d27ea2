struct point { int x, y; };
struct rect { struct point min, max; };
struct outer { struct inner { char c; double d; } in; int arr[3]; };
union u { char c[5]; int i; double d; };
