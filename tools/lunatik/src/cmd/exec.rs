//! `lunatik exec NAME [FILE | -e CODE]`.

use super::run::{read_file, report, run_chunk};
use crate::failure::{check_name, connect, Failure};
use std::path::Path;

/// `lunatik exec`.
pub(crate) fn cmd_exec(
    name: &str,
    file: Option<String>,
    code: Option<String>,
) -> Result<(), Failure> {
    check_name(name)?;
    let (chunk, source) = match (file, code) {
        (_, Some(code)) => ("=(command line)".to_string(), code.into_bytes()),
        (Some(f), None) if f == "-" => {
            let mut s = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut s)
                .map_err(|e| Failure::Other(format!("cannot read standard input: {e}")))?;
            ("=stdin".to_string(), s)
        }
        (Some(f), None) => (format!("@{f}"), read_file(Path::new(&f))?),
        (None, None) => return Err(Failure::Invalid("give a file or -e CODE".into())),
    };
    let mut client = connect()?;
    report(run_chunk(&mut client, name, &chunk, &source)?)
}
