struct s { struct s { int a; }; };nf l t;
