#pragma pack(push, a, 2)
#pragma pack(push)
#pragma pack(4)
struct p1 { char c; int i : 31; long l __attribute__((aligned(8))); };
#pragma pack(pop, a)
#pragma pack(pop)
#pragma pack(pop)
#pragma pack(3)
#pragma pack(push, 0x10)
_Pragma("pack(1)") struct p2 { char c; double d; };
#pragma pack
#pragma pack(
#pragma pack(push,
