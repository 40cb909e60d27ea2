int a @;
int b; /* unterminated
