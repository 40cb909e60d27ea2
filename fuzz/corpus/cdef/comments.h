/* a block comment */ int a; // a line comment
/* multi
   line */ int b; /**/ int /* inside */ c;
// comment with a backslash at the end \
   still a comment
int d;
