-- hello.lua: the smallest state. `lunatik run hello.lua` creates the
-- state "hello" and runs this; later `lunatik exec hello -e 'return
-- greet("you")'` calls into it.
local greeting = "hello"

function greet(who)
	return greeting .. ", " .. who
end

print(greet("kernel"))
