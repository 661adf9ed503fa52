//! Interleaved rounds against one server: several load runs (a baseline and what is compared with
//! it) measured round after round, the order rotating every round, so every series sees the same
//! machine noise and each round gives a ratio against a baseline measured seconds apart.

use std::time::Duration;

use super::load::LoadResult;
use super::stack::{Round, Series};
use super::{Progress, Settings};

/// One series of an interleaved measurement: a name for progress lines and reports, and the load
/// run itself (given its duration).
pub struct Contender<'a> {
    pub name: String,
    pub run: Box<dyn Fn(Duration) -> Result<LoadResult, String> + 'a>,
}

impl<'a> Contender<'a> {
    pub fn new(
        name: impl Into<String>,
        run: impl Fn(Duration) -> Result<LoadResult, String> + 'a,
    ) -> Self {
        Self {
            name: name.into(),
            run: Box::new(run),
        }
    }
}

/// Warms every contender up once (unmeasured), then runs `settings.rounds` rounds of each; round
/// `r` starts with contender `r mod n`. Returns one series per contender, in the given order.
pub fn measure(
    phase: &str,
    contenders: &[Contender],
    settings: &Settings,
    progress: &Progress,
) -> Result<Vec<Series>, String> {
    for contender in contenders {
        (contender.run)(settings.warm_up)?;
    }
    progress.say(&format!("{phase}: warmed up"));
    let mut series = vec![Series::default(); contenders.len()];
    for round in 0..settings.rounds {
        for index in rotation(contenders.len(), round) {
            let contender = &contenders[index];
            let result = Round::from(&(contender.run)(settings.duration)?);
            progress.say(&format!(
                "{phase}: {} round {}/{}: {:.0}/s, p50 {:.3} ms, p99 {:.3} ms, {} errors",
                contender.name,
                round + 1,
                settings.rounds,
                result.rps,
                result.p50_ms,
                result.p99_ms,
                result.errors
            ));
            series[index].rounds.push(result);
        }
    }
    Ok(series)
}

/// The order of `count` contenders in round `round`: rotated left by `round`.
fn rotation(count: usize, round: usize) -> impl Iterator<Item = usize> {
    (0..count).map(move |i| (i + round) % count.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_round_runs_everyone_once_starting_with_the_next() {
        assert_eq!(rotation(3, 0).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(rotation(3, 1).collect::<Vec<_>>(), [1, 2, 0]);
        assert_eq!(rotation(3, 5).collect::<Vec<_>>(), [2, 0, 1]);
        assert_eq!(rotation(0, 1).count(), 0);
    }
}
