struct __attribute__((packed)) pk { char c; int i; };
struct pk2 { char c; int i; } __attribute__((packed));
struct al { char c; int i __attribute__((aligned(16))); };
struct __attribute__((aligned(8))) at1 { char c; };
struct at2 { char c; } __attribute__((__aligned__(8)));
typedef int aligned_int __attribute__((aligned(16)));
typedef struct { char c; aligned_int i; } holds_aligned;
struct mixed { char a; long b __attribute__((packed)); short c __attribute__((aligned(4))); };
_Alignas(16) int al16; struct s { _Alignas(32) char c; };
