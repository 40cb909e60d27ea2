struct node;
typedef struct node node_t;
struct node { int v; node_t *next; struct node *prev; };
struct opaque;
struct opaque *opaque_new(void);
void opaque_free(struct opaque *);
union later; union later { int a; };
enum fwd; enum fwd *fwd_ptr(void); enum fwd { F0 };
