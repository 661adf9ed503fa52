//! The benchmark's corpus: documents of about 2 KB drawn from a 20,000-word vocabulary with a
//! Zipf distribution (exponent 1.07, as natural text), deterministic so every run searches the
//! same text, and the query classes measured against it.

pub const VOCABULARY: usize = 20_000;
const DOCUMENT_CHARS: usize = 2_000;

/// xorshift64*: deterministic, so every run searches the same corpus.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Words and their Zipf cumulative weights (exponent 1.07, as in English text).
pub struct Corpus {
    pub words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Corpus {
    pub fn new() -> Self {
        const CONSONANTS: &[u8] = b"bdfgklmnprstvz";
        const VOWELS: &[u8] = b"aeiou";
        let syllable = |i: usize| {
            let c = CONSONANTS[i % CONSONANTS.len()] as char;
            let v = VOWELS[(i / CONSONANTS.len()) % VOWELS.len()] as char;
            format!("{c}{v}")
        };
        let count = CONSONANTS.len() * VOWELS.len();
        let words: Vec<String> = (0..VOCABULARY)
            .map(|i| {
                let mut word = syllable(i % count) + &syllable((i / count) % count);
                if i >= count * count {
                    word += &syllable(i / (count * count));
                }
                word + "x"
            })
            .collect();
        let mut total = 0.0;
        let cumulative = (0..VOCABULARY)
            .map(|rank| {
                total += 1.0 / ((rank + 1) as f64).powf(1.07);
                total
            })
            .collect();
        Self { words, cumulative }
    }

    pub fn word(&self, rng: &mut Rng) -> &str {
        let total = self.cumulative[VOCABULARY - 1];
        let x = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        let rank = self
            .cumulative
            .partition_point(|&c| c < x)
            .min(VOCABULARY - 1);
        &self.words[rank]
    }

    /// The `Document.create` payload of document `index`: a title of 2-6 words, ~2 KB of content.
    pub fn document(&self, index: usize) -> String {
        let mut rng = Rng::new(index as u64 + 1);
        let title: Vec<&str> = (0..2 + rng.below(5)).map(|_| self.word(&mut rng)).collect();
        let mut content = String::with_capacity(DOCUMENT_CHARS + 64);
        let mut sentence = 0;
        while content.len() < DOCUMENT_CHARS {
            content.push_str(self.word(&mut rng));
            sentence += 1;
            content.push_str(if sentence % 12 == 0 { ". " } else { " " });
        }
        format!(
            r#"{{"title":"{}","content":"{}"}}"#,
            title.join(" "),
            content.trim_end()
        )
    }
}

/// The query classes, each a few queries of that kind (ranks in the Zipf order).
pub fn query_classes(corpus: &Corpus) -> Vec<(&'static str, Vec<String>)> {
    let words = |ranks: std::ops::Range<usize>, step: usize| -> Vec<String> {
        ranks
            .step_by(step)
            .map(|r| corpus.words[r].clone())
            .collect()
    };
    let common = words(3..35, 4);
    let medium = words(300..1_100, 100);
    let rare = words(8_000..16_000, 1_000);
    let excluding = medium
        .iter()
        .zip(&common)
        .map(|(m, c)| format!("{m} -{c}"))
        .collect();
    vec![
        ("common word", common),
        ("mid-frequency word", medium),
        ("rare word", rare),
        ("word -common", excluding),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_is_deterministic_zipfian_and_about_two_kilobytes() {
        let corpus = Corpus::new();
        assert_eq!(corpus.document(7), corpus.document(7));
        let doc = corpus.document(3);
        assert!((2_000..2_200).contains(&doc.len()), "{}", doc.len());
        let mut rng = Rng::new(1);
        let common = (0..10_000)
            .filter(|_| corpus.word(&mut rng) == corpus.words[0])
            .count();
        assert!(common > 500, "{common}");
        let unique: std::collections::HashSet<_> = corpus.words.iter().collect();
        assert_eq!(unique.len(), VOCABULARY);
    }
}
