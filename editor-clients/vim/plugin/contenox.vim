" contenox.vim commands; the functions live in autoload/contenox.vim.
if exists('g:loaded_contenox') || !has('channel')
  finish
endif
let g:loaded_contenox = 1

command! -nargs=+ -range=0 ContenoxChat call contenox#chat(<q-args>, 0,
      \ <count> ? join(getline(<line1>, <line2>), "\n") : '')
command! ContenoxCancel call contenox#cancel()
command! ContenoxNew execute 'buffer' contenox#new()
command! ContenoxModels call contenox#select_model()
command! -nargs=+ ContenoxBackendAdd call call('contenox#backend_add', [<f-args>])
command! -nargs=+ ContenoxConfigSet call contenox#config_set(<f-args>)
command! ContenoxLog execute 'buffer' contenox#log_buffer()
