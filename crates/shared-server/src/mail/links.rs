//! [`extract_links`]: the links of a message, for the development mailbox's log line and for
//! tests that follow a verification link.

/// The `http://` and `https://` links in a text (HTML attributes included), in order, without
/// duplicates. Used to log verification links in development and by tests.
pub fn extract_links(text: &str) -> Vec<String> {
    let mut links: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = ["https://", "http://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        let candidate = &rest[start..];
        let end = candidate
            .find(|c: char| c.is_whitespace() || "\"'<>()[]{}`".contains(c))
            .unwrap_or(candidate.len());
        let link = candidate[..end]
            .trim_end_matches(['.', ',', ';', ':', '!', '?'])
            .replace("&amp;", "&");
        if link.len() > "https://".len() && !links.contains(&link) {
            links.push(link);
        }
        rest = &candidate[end.max(1)..];
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_in_text_and_html() {
        let links = extract_links(
            "Verify: https://app.example/verify?token=a&amp;b=1.\n<a href=\"http://x.example/p\">x</a> https://app.example/verify?token=a&b=1",
        );
        assert_eq!(
            links,
            vec![
                "https://app.example/verify?token=a&b=1".to_string(),
                "http://x.example/p".to_string()
            ]
        );
    }
}
