# The demo run by `make demo` inside the VM: load lunatik.ko, drive it
# with the lunatik CLI, show a runaway loop and a memory hog stopped by the
# instruction budget and the memory cap while their states keep working,
# then unload.
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
say() { printf '\n\033[36m# %s\033[0m\n' "$*"; }

echo "lunatik-rs demo on Linux $(uname -r), $(nproc) CPUs"
step insmod /lib/modules/lunatik.ko
step genl ctrl get name LUNATIK

say "a state runs a script (hello.lua, found under /lib/modules/lua as Lunatik does)"
step cat /lib/modules/lua/hello.lua
step lunatik run hello.lua
step sh -c 'dmesg | grep "lunatik: hello:"'
step lunatik exec hello -e 'return greet("operator"), 6 * 7'
step lunatik run hello.lua --name hello2 --memory 512K --budget 1000000
step lunatik list

say "a runaway loop is stopped by the instruction budget; the state lives on"
step lunatik exec hello2 -e 'while true do end'
step lunatik exec hello2 -e 'return greet("still here")'

say "a memory hog is stopped by the 512 KiB cap; the state lives on"
step lunatik exec hello2 -e 'local t = {} for i = 1, 10000000 do t[i] = i end'
step lunatik exec hello2 -e 'return collectgarbage("count") < 512'
step lunatik stats hello2

say "script output reaches 'lunatik log' listeners"
lunatik log --count 2 &
sleep 1
step lunatik exec hello -e 'print("from the kernel") print(greet("log"))'
wait

say "errors name the chunk and line"
printf 'local x = 1\nlocal y = = 2\n' >/tmp/broken.lua
step lunatik run /tmp/broken.lua
step lunatik stop hello
step lunatik stop hello2
step lunatik list --json
step rmmod lunatik
step sh -c 'dmesg | grep lunatik: | tail -n 1'
