/* Attributes zlib.h does not state, added by redeclaration (ANNOTATE,
** modffi gen --annotate): each buffer's length, which the remote strategy
** copies and the checked strategy checks. */
uLong crc32(uLong crc, const Bytef *buf, uInt len)
    __attribute__((access(read_only, 2, 3)));
uLong adler32(uLong adler, const Bytef *buf, uInt len)
    __attribute__((access(read_only, 2, 3)));
