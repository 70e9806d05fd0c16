" contenox.vim commands; the functions live in autoload/contenox.vim.
if exists('g:loaded_contenox') || !has('channel')
  finish
endif
let g:loaded_contenox = 1

command! -nargs=+ -range ContenoxChat call contenox#command_chat(<q-args>, <range>, <line1>, <line2>)
command! ContenoxCancel call contenox#cancel()
command! ContenoxNew execute 'buffer' contenox#new()
command! -bang ContenoxModels call contenox#select_model(<bang>0)
command! -nargs=+ ContenoxBackendAdd call call('contenox#backend_add', [<f-args>])
command! -nargs=+ ContenoxConfigSet call contenox#config_set(<f-args>)
command! ContenoxLog execute 'buffer' contenox#log_buffer()
