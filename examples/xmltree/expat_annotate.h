/* Attributes expat.h does not state, added by redeclaration (modffi gen
** --annotate): what the remote and checked strategies need to know. */
enum XML_Status XML_Parse(XML_Parser parser, const char *s, int len,
                          int isFinal)
    __attribute__((access(read_only, 2, 3)));
