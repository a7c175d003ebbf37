// SPDX-License-Identifier: GPL-2.0
/*
 * Opening the script files `require` loads (states/script.rs), confined to
 * /lib/modules/lua: the lookup flags are BIT() macros and the path
 * helpers inline functions, which bindgen does not translate.
 */
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/path.h>

#include "script.h"

struct file *lunatik_script_open(const char *rel)
{
	struct path root, path;
	struct file *file;
	int err;

	/*
	 * The root as the calling process sees it, as Lunatik's `run` does:
	 * states/script.rs calls this only in a chunk the control plane runs
	 * for a user's request, in that user's task, whose root and
	 * credentials (below) are the requester's.
	 */
	err = kern_path("/lib/modules/lua", LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &root);
	if (err)
		return ERR_PTR(err);
	/*
	 * LOOKUP_BENEATH: a "..", an absolute symlink or a relative one that
	 * climbs out of the root fails with -EXDEV; symlinks that stay
	 * inside are followed.
	 */
	err = vfs_path_lookup(root.dentry, root.mnt, rel, LOOKUP_FOLLOW | LOOKUP_BENEATH, &path);
	path_put(&root);
	if (err)
		return ERR_PTR(err);
	if (!d_is_reg(path.dentry))
		file = ERR_PTR(-EISDIR);
	else if ((err = inode_permission(mnt_idmap(path.mnt), d_inode(path.dentry), MAY_READ)))
		file = ERR_PTR(err);
	else
		file = dentry_open(&path, O_RDONLY, current_cred());
	path_put(&path);
	return file;
}

loff_t lunatik_script_size(struct file *file)
{
	return i_size_read(file_inode(file));
}
