# modffi_add_binding(): generate a binding with `modffi gen` at build time.
# Shipped in the modffi CMake package (find_package(modffi)) and used by
# modffi's own build (examples/xmltree). See LICENSE and README.md.
#
#   modffi_add_binding(NAME HEADER h.h
#                      [ONLY regex] [LIB soname]
#                      [ANNOTATE file...] [CDEF file...]
#                      [MODFFI_LIBRARY target] [OUTPUT_DIR dir])
#
# Creates
#   NAME               an OBJECT library of NAME_mffi.c and NAME_mffi_static.c
#                      (the wrappers and the static strategy's table); linking
#                      it gives the include directory of NAME_mffi.h and
#                      MODFFI_LIBRARY (default modffi::modffi, the shared
#                      library; modffi::modffi_static links it statically).
#                      The static table calls the library's functions: link
#                      NAME to the library itself (e.g. ZLIB::ZLIB).
#   NAME_direct        an INTERFACE library for direct mode: the include
#                      directory and NAME_MFFI_DIRECT, no modffi at all.
#   NAME_mffi_gen      the custom target that runs the generator.
#
# `modffi gen` preprocesses the header as NAME is compiled: the same C
# compiler, with CMAKE_C_FLAGS (and those of the build type), NAME's
# language mode (C_STANDARD, C_EXTENSIONS), compile options, include
# directories and compile definitions, including those NAME gets from the
# targets it links (set after this call too: they are read at generation).
# The files are regenerated when the header or any file it includes, an
# ANNOTATE or CDEF file, those flags, or the modffi executable change. Link
# NAME with the keyword form of target_link_libraries (PUBLIC, PRIVATE).
#
# HEADER is an include name (zlib.h: #include <zlib.h>), or a path starting
# with '/', './' or '../' (relative to the current source directory).
# ANNOTATE and CDEF files are relative to the current source directory.
# OUTPUT_DIR (relative to the current binary directory) defaults to
# ${CMAKE_CURRENT_BINARY_DIR}/NAME_mffi; NAME's property MODFFI_OUTPUT_DIR
# holds it.

# Shell-quote each element of a list for sh, into one string.
function(_modffi_shell_quote out)
  set(res "")
  foreach(s IN LISTS ARGN)
    string(REPLACE "'" "'\\''" s "${s}")
    string(APPEND res " '${s}'")
  endforeach()
  set(${out} "${res}" PARENT_SCOPE)
endfunction()

function(modffi_add_binding name)
  cmake_parse_arguments(PARSE_ARGV 1 arg ""
    "HEADER;ONLY;LIB;MODFFI_LIBRARY;OUTPUT_DIR" "ANNOTATE;CDEF")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR
      "modffi_add_binding(${name}): unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT name MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    message(FATAL_ERROR
      "modffi_add_binding(${name}): NAME must be a C identifier")
  endif()
  if(NOT arg_HEADER)
    message(FATAL_ERROR "modffi_add_binding(${name}): HEADER is required")
  endif()
  if(NOT TARGET modffi::cli)
    message(FATAL_ERROR
      "modffi_add_binding(${name}): no target modffi::cli (find_package(modffi))")
  endif()
  if(NOT arg_MODFFI_LIBRARY)
    set(arg_MODFFI_LIBRARY modffi::modffi)
  endif()
  set(dir "${arg_OUTPUT_DIR}")
  if(NOT dir)
    set(dir "${CMAKE_CURRENT_BINARY_DIR}/${name}_mffi")
  endif()
  get_filename_component(dir "${dir}" ABSOLUTE
    BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  set(h "${dir}/${name}_mffi.h")
  set(outputs "${h}" "${dir}/${name}_mffi.c" "${dir}/${name}_mffi_static.c")

  # What the generated files depend on, besides the header's includes.
  get_target_property(cli modffi::cli ALIASED_TARGET)
  if(NOT cli)
    set(cli modffi::cli)
  endif()
  set(depends ${cli} "$<TARGET_FILE:modffi::cli>")
  set(gen_args --name ${name})
  set(header "${arg_HEADER}")
  if(header MATCHES "^(/|\\./|\\.\\./)")
    get_filename_component(header "${header}" ABSOLUTE
      BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND depends "${header}")
  endif()
  list(APPEND gen_args --header "${header}")
  foreach(kind CDEF ANNOTATE)
    string(TOLOWER "--${kind}" opt)
    foreach(f IN LISTS arg_${kind})
      get_filename_component(f "${f}" ABSOLUTE
        BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
      list(APPEND gen_args ${opt} "${f}")
      list(APPEND depends "${f}")
    endforeach()
  endforeach()
  if(DEFINED arg_ONLY)
    list(APPEND gen_args --only "${arg_ONLY}")
  endif()
  if(arg_LIB)
    list(APPEND gen_args --lib "${arg_LIB}")
  endif()

  # The targets: NAME's properties are read by the command below.
  add_library(${name} OBJECT ${outputs})
  target_include_directories(${name} PUBLIC "$<BUILD_INTERFACE:${dir}>")
  target_link_libraries(${name} PUBLIC ${arg_MODFFI_LIBRARY})
  set_target_properties(${name} PROPERTIES MODFFI_OUTPUT_DIR "${dir}")
  add_library(${name}_direct INTERFACE)
  target_include_directories(${name}_direct INTERFACE "$<BUILD_INTERFACE:${dir}>")
  target_compile_definitions(${name}_direct INTERFACE ${name}_MFFI_DIRECT)

  # The preprocessor `modffi gen` runs is $CC -E: NAME's compiler and
  # flags, which sh splits (hence the quoting).
  set(t "${name}")
  set(cc "")
  _modffi_shell_quote(cc ${CMAKE_C_COMPILER} ${CMAKE_C_COMPILER_ARG1})
  separate_arguments(flags UNIX_COMMAND "${CMAKE_C_FLAGS}")
  _modffi_shell_quote(q ${flags})
  string(APPEND cc "${q}")
  get_property(multi GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
  if(multi)
    set(configs ${CMAKE_CONFIGURATION_TYPES})
  else()
    set(configs ${CMAKE_BUILD_TYPE})
  endif()
  foreach(c IN LISTS configs)
    string(TOUPPER "${c}" C)
    separate_arguments(flags UNIX_COMMAND "${CMAKE_C_FLAGS_${C}}")
    _modffi_shell_quote(q ${flags})
    if(q)
      string(APPEND cc "$<$<CONFIG:${c}>:${q}>")
    endif()
  endforeach()
  # Language mode: the standard CMake would choose for NAME, always spelt.
  set(std "$<TARGET_PROPERTY:${t},C_STANDARD>")
  set(std "$<IF:$<STREQUAL:${std},>,${CMAKE_C_STANDARD_DEFAULT},${std}>")
  set(ext "$<TARGET_PROPERTY:${t},C_EXTENSIONS>")
  set(ext "$<OR:$<STREQUAL:${ext},>,$<BOOL:${ext}>>")
  foreach(v 90 99 11 17 23)
    set(iso "${CMAKE_C${v}_STANDARD_COMPILE_OPTION}")
    set(gnu "${CMAKE_C${v}_EXTENSION_COMPILE_OPTION}")
    if(iso OR gnu)
      string(APPEND cc "$<$<STREQUAL:${std},${v}>: $<IF:${ext},${gnu},${iso}>>")
    endif()
  endforeach()
  set(opts "$<TARGET_PROPERTY:${t},COMPILE_OPTIONS>")
  string(APPEND cc "$<$<NOT:$<STREQUAL:${opts},>>: '$<JOIN:${opts},' '>'>")
  set(incs "$<TARGET_PROPERTY:${t},INCLUDE_DIRECTORIES>")
  set(defs "$<TARGET_PROPERTY:${t},COMPILE_DEFINITIONS>")
  set(sc "$<SEMICOLON>") # Split by COMMAND_EXPAND_LISTS: -I DIR -I DIR...
  list(APPEND gen_args
    "$<$<NOT:$<STREQUAL:${incs},>>:-I${sc}$<JOIN:${incs},${sc}-I${sc}>>"
    "$<$<NOT:$<STREQUAL:${defs},>>:-D${sc}$<JOIN:${defs},${sc}-D${sc}>>")

  # Every file the header includes, from the preprocessor run itself: a
  # depfile (not with CDEF, where the header is not read).
  set(depfile_args)
  if(NOT arg_CDEF)
    set(dep "${dir}/${name}_mffi.d")
    _modffi_shell_quote(q -MD -MF "${dep}" -MT "${h}")
    string(APPEND cc "${q}")
    set(depfile_args DEPFILE "${dep}")
  endif()

  # The command line, evaluated, in a file rewritten only when it changes:
  # new flags, include directories or definitions regenerate the binding
  # (Makefile generators do not compare commands).
  set(argfile "${dir}/${name}_mffi_$<CONFIG>.args")
  string(REPLACE ";" "\n" args_text "CC=${cc};${gen_args}")
  file(GENERATE OUTPUT "${argfile}" CONTENT "${args_text}\n" TARGET ${t})
  list(APPEND depends "${argfile}")

  add_custom_command(OUTPUT ${outputs}
    COMMAND ${CMAKE_COMMAND} -E make_directory "${dir}"
    COMMAND ${CMAKE_COMMAND} -E env "CC=${cc}"
      "$<TARGET_FILE:modffi::cli>" gen ${gen_args} -o "${dir}"
    DEPENDS ${depends}
    ${depfile_args}
    COMMENT "modffi gen: binding ${name}"
    COMMAND_EXPAND_LISTS VERBATIM)
  add_custom_target(${name}_mffi_gen DEPENDS ${outputs})
  add_dependencies(${name} ${name}_mffi_gen)
  add_dependencies(${name}_direct ${name}_mffi_gen)
endfunction()
