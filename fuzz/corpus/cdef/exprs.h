enum {
  A1 = 1 + 2 * 3, A2 = (1 + 2) * 3, A3 = -10 / 3, A4 = -10 % 3, A5 = 1 << 10,
  A6 = -16 >> 2, A7 = 5 & 3 | 4 ^ 1, A8 = ~0, A9 = !5, A10 = 3 < 4 && 4 >= 4,
  A11 = 0 || 1 != 2, A12 = 0 ? 1 : 0 ? 2 : 3, A13 = 0 && 1 / 0, A14 = +4 - -2,
  A15 = (char)300, A16 = (unsigned char)-1, A17 = (signed char)200,
  A18 = (unsigned)-1, A19 = (_Bool)5, A20 = '\n' + '\x41' + '\101' + '\'',
  A21 = 10u + 10UL + 10llu + 0x1F + 017 + 0b101, A22 = -1 < 0u, A23 = -1L < 0u,
  A24 = 0xffffffff + 1, A25 = sizeof(int[3]) + _Alignof(double) + __alignof__(long),
  A26 = sizeof(struct { char c[3]; short s; }), A27 = __extension__ 5
};
