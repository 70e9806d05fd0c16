-- User commands for contenox.nvim; the module itself loads on first use.
if vim.g.loaded_contenox then
  return
end
vim.g.loaded_contenox = true

local function contenox()
  return require('contenox')
end

vim.api.nvim_create_user_command('ContenoxChat', function(args)
  local context
  if args.range > 0 then
    context = table.concat(vim.api.nvim_buf_get_lines(0, args.line1 - 1, args.line2, false), '\n')
  end
  contenox().chat(args.args, { context = context })
end, { nargs = '+', range = true, desc = 'Chat with Bedrock; a range is sent as context' })
vim.api.nvim_create_user_command('ContenoxCancel', function()
  contenox().cancel()
end, { desc = 'Cancel the chat streaming into this buffer' })
vim.api.nvim_create_user_command('ContenoxNew', function()
  vim.api.nvim_set_current_buf(contenox().new())
end, { desc = 'Open a new chat buffer (new session)' })
vim.api.nvim_create_user_command('ContenoxModels', function(args)
  contenox().select_model({ buffer_only = args.bang })
end, { bang = true, desc = 'Pick the default model from models/list (!: for this chat buffer only)' })
vim.api.nvim_create_user_command('ContenoxBackendAdd', function(args)
  contenox().backend_add(args.fargs[1], args.fargs[2], args.fargs[3])
end, { nargs = '+', desc = 'ContenoxBackendAdd NAME URL-OR-REGION [REGION]' })
vim.api.nvim_create_user_command('ContenoxConfigSet', function(args)
  contenox().config_set(args.fargs[1], args.fargs[2] or '')
end, { nargs = '+', desc = 'ContenoxConfigSet default-model|default-provider VALUE' })
vim.api.nvim_create_user_command('ContenoxLog', function()
  vim.api.nvim_set_current_buf(contenox().log_buffer())
end, { desc = "Show the server's stderr" })
