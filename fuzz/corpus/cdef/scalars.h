_Bool b; char c; signed char sc; unsigned char uc; short s; unsigned short us;
int i; unsigned u; long l; unsigned long ul; long long ll; unsigned long long ull;
__int128 i128; unsigned __int128 u128; __int128_t t128; __uint128_t tu128;
float f; double d; long double ld; _Float16 h; _Float32 f32; _Float64 f64;
_Float32x f32x; _Float64x f64x; _Float128 f128; __float128 q; __float80 x80;
float _Complex fc; _Complex double dc; long double _Complex ldc;
__builtin_va_list va; signed si; long int long lil; int long unsigned ilu;
