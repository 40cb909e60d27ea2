struct a_s { struct b_s *b; struct a_s *self; };
struct b_s { struct a_s a; };
struct s { struct s x; };
