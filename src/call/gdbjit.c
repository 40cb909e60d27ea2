/* Generated code made known to gdb (its JIT interface). See LICENSE.
**
** gdb reads no __register_frame registration, so without help its
** backtraces stop at a generated call routine. With MFFI_GDB=1 in the
** environment, each routine is also described to gdb as gdb's manual says
** ("JIT Compilation Interface"): a small ELF object in memory, with a
** .text section at the routine's address (no bytes: they are in the
** process), a symbol naming it, and a copy of its .eh_frame (absolute
** addresses), linked into __jit_debug_descriptor before
** __jit_debug_register_code() is called, where gdb has a breakpoint. Off
** by default: each routine costs an object of about 600 bytes, and gdb
** reads every object again as it is added.
*/
#include <elf.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "call/gdbjit.h"

#if defined(__x86_64__) && defined(__ELF__)

/* The interface, as gdb's manual spells it. */
enum { JIT_NOACTION = 0, JIT_REGISTER_FN, JIT_UNREGISTER_FN };
struct jit_code_entry {
  struct jit_code_entry *next_entry, *prev_entry;
  const char *symfile_addr;
  uint64_t symfile_size;
};
struct jit_descriptor {
  uint32_t version, action_flag;
  struct jit_code_entry *relevant_entry, *first_entry;
};

/* gdb finds these two by name. */
__attribute__((
    visibility("default"))) struct jit_descriptor __jit_debug_descriptor = {
    1, JIT_NOACTION, NULL, NULL};
__attribute__((visibility("default"), noinline)) void
__jit_debug_register_code(void);
void __jit_debug_register_code(void) {
  __asm__ volatile("" ::: "memory"); /* Kept: gdb stops here. */
}

static pthread_mutex_t gj_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t gj_once = PTHREAD_ONCE_INIT;
static bool gj_on;

static void gj_init(void) {
  const char *e = getenv("MFFI_GDB");
  gj_on = e && e[0] == '1';
}

bool mffi__gdbjit_on(void) {
  pthread_once(&gj_once, gj_init);
  return gj_on;
}

enum { S_NULL, S_TEXT, S_EH, S_SYMTAB, S_STRTAB, S_SHSTRTAB, S_N };

static const char gj_shstr[] = "\0.text\0.eh_frame\0.symtab\0.strtab\0"
                               ".shstrtab";
enum { N_TEXT = 1, N_EH = 7, N_SYMTAB = 17, N_STRTAB = 25, N_SHSTRTAB = 33 };

/* The object: headers, then the .eh_frame copy, the symbols and names. */
typedef struct gj_obj {
  struct jit_code_entry entry;
  Elf64_Ehdr eh;
  Elf64_Shdr sh[S_N];
  Elf64_Sym sym[2];
  char shstr[sizeof gj_shstr];
  char str[];
} gj_obj;

void mffi__gdbjit_add(const void *code, size_t size, const void *eh,
                      size_t ehsize, const char *name) {
  if (!mffi__gdbjit_on()) return;
  size_t nlen = strlen(name) + 2, ehat = (nlen + 7) & ~(size_t)7;
  gj_obj *o = calloc(1, sizeof *o + ehat + ehsize);
  if (!o) return; /* gdb just does not see this routine. */
  memcpy(o->str + 1, name, nlen - 1);
  memcpy(o->shstr, gj_shstr, sizeof gj_shstr);
  unsigned char *ehcopy = (unsigned char *)o->str + ehat;
  memcpy(ehcopy, eh, ehsize);
  const unsigned char *base = (const unsigned char *)&o->eh;
  Elf64_Ehdr *h = &o->eh;
  memcpy(h->e_ident, ELFMAG, SELFMAG);
  h->e_ident[EI_CLASS] = ELFCLASS64;
  h->e_ident[EI_DATA] = ELFDATA2LSB;
  h->e_ident[EI_VERSION] = EV_CURRENT;
  h->e_ident[EI_OSABI] = ELFOSABI_SYSV;
  h->e_type = ET_REL;
  h->e_machine = EM_X86_64;
  h->e_version = EV_CURRENT;
  h->e_ehsize = sizeof *h;
  h->e_shoff = (Elf64_Off)((const unsigned char *)o->sh - base);
  h->e_shentsize = sizeof(Elf64_Shdr);
  h->e_shnum = S_N;
  h->e_shstrndx = S_SHSTRTAB;
  /* .text: where the routine runs; its bytes are the process's. */
  o->sh[S_TEXT] = (Elf64_Shdr){.sh_name = N_TEXT,
                               .sh_type = SHT_NOBITS,
                               .sh_flags = SHF_ALLOC | SHF_EXECINSTR,
                               .sh_addr = (Elf64_Addr)(uintptr_t)code,
                               .sh_size = size,
                               .sh_addralign = 16};
  o->sh[S_EH] = (Elf64_Shdr){.sh_name = N_EH,
                             .sh_type = SHT_PROGBITS,
                             .sh_flags = SHF_ALLOC,
                             .sh_addr = (Elf64_Addr)(uintptr_t)eh,
                             .sh_offset = (Elf64_Off)(ehcopy - base),
                             .sh_size = ehsize,
                             .sh_addralign = 8};
  o->sh[S_SYMTAB] = (Elf64_Shdr){
      .sh_name = N_SYMTAB,
      .sh_type = SHT_SYMTAB,
      .sh_offset = (Elf64_Off)((const unsigned char *)o->sym - base),
      .sh_size = sizeof o->sym,
      .sh_link = S_STRTAB,
      .sh_info = 1, /* The first global symbol. */
      .sh_addralign = 8,
      .sh_entsize = sizeof(Elf64_Sym)};
  o->sh[S_STRTAB] = (Elf64_Shdr){
      .sh_name = N_STRTAB,
      .sh_type = SHT_STRTAB,
      .sh_offset = (Elf64_Off)((const unsigned char *)o->str - base),
      .sh_size = nlen,
      .sh_addralign = 1};
  o->sh[S_SHSTRTAB] = (Elf64_Shdr){
      .sh_name = N_SHSTRTAB,
      .sh_type = SHT_STRTAB,
      .sh_offset = (Elf64_Off)((const unsigned char *)o->shstr - base),
      .sh_size = sizeof gj_shstr,
      .sh_addralign = 1};
  /* The routine: offset 0 of .text (a relocatable object's values are
  ** section offsets). */
  o->sym[1] = (Elf64_Sym){.st_name = 1,
                          .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
                          .st_shndx = S_TEXT,
                          .st_value = 0,
                          .st_size = size};
  o->entry.symfile_addr = (const char *)base;
  o->entry.symfile_size = sizeof *o - offsetof(gj_obj, eh) + ehat + ehsize;
  pthread_mutex_lock(&gj_mu);
  o->entry.next_entry = __jit_debug_descriptor.first_entry;
  if (o->entry.next_entry) o->entry.next_entry->prev_entry = &o->entry;
  __jit_debug_descriptor.first_entry = &o->entry;
  __jit_debug_descriptor.relevant_entry = &o->entry;
  __jit_debug_descriptor.action_flag = JIT_REGISTER_FN;
  __jit_debug_register_code();
  pthread_mutex_unlock(&gj_mu);
}

void mffi__gdbjit_remove(const void *code) {
  if (!mffi__gdbjit_on()) return;
  pthread_mutex_lock(&gj_mu);
  struct jit_code_entry *e = __jit_debug_descriptor.first_entry;
  while (e &&
         ((const gj_obj *)e)->sh[S_TEXT].sh_addr != (Elf64_Addr)(uintptr_t)code)
    e = e->next_entry;
  if (!e) {
    pthread_mutex_unlock(&gj_mu);
    return;
  }
  gj_obj *o = (gj_obj *)e;
  if (e->prev_entry)
    e->prev_entry->next_entry = e->next_entry;
  else
    __jit_debug_descriptor.first_entry = e->next_entry;
  if (e->next_entry) e->next_entry->prev_entry = e->prev_entry;
  __jit_debug_descriptor.relevant_entry = e;
  __jit_debug_descriptor.action_flag = JIT_UNREGISTER_FN;
  __jit_debug_register_code();
  pthread_mutex_unlock(&gj_mu);
  free(o);
}

#else /* Not an x86-64 ELF target: nothing is generated to describe. */

bool mffi__gdbjit_on(void) {
  return false;
}
void mffi__gdbjit_add(const void *code, size_t size, const void *eh,
                      size_t ehsize, const char *name) {
  (void)code, (void)size, (void)eh, (void)ehsize, (void)name;
}
void mffi__gdbjit_remove(const void *code) {
  (void)code;
}

#endif
