//! `lunatik stop NAME`.

use crate::failure::{check_name, connect, failure, Failure};
use lunatik::message::{Attr, Lunatik};
use lunatik::protocol::cmd;

/// `lunatik stop`.
pub(crate) fn cmd_stop(name: &str) -> Result<(), Failure> {
    check_name(name)?;
    connect()?
        .request(Lunatik::new(cmd::DEL, vec![Attr::Name(name.to_string())]))
        .map_err(|e| failure(e, name))?;
    Ok(())
}
