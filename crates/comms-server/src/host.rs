//! This machine's name, which both the SMTP transport (its `EHLO` greeting) and the delivery
//! worker (its lease owner id) use: a module of its own, so neither imports the other (the
//! transport sits below the worker that drives it, slices.md §5.3).

/// This machine's host name (for lease owners and the SMTP greeting); `localhost` if unknown.
pub(crate) fn hostname() -> String {
    let valid = |name: &str| {
        !name.is_empty()
            && name.len() <= 253
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    };
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .chain(shared_server::config::Vars::process().get("HOSTNAME"))
        .map(|name| name.trim().to_string())
        .find(|name| valid(name))
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_name_is_usable_in_a_greeting() {
        let name = hostname();
        assert!(
            !name.is_empty() && !name.contains(char::is_whitespace),
            "{name}"
        );
    }
}
