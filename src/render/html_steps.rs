//! The HTML handout steps: every timeline row carries the step it belongs to (`data-step`), and
//! one inline script hides the rows of later steps and moves with ←/→ or the buttons; `#step=N`
//! opens at step N. Progressive enhancement: without scripts every row shows and the buttons stay
//! `hidden`, so the page reads as the whole run. No external assets: it works from `file://`.

use super::timeline::rows;
use crate::engine::run::LessonRun;
use crate::model::Timeline;

/// For each row `rows(run, lanes, …)` gives, the step it belongs to (0: before the first step,
/// `k`: after the k-th launch), and how many steps the run has.
pub fn row_steps(run: &LessonRun, lanes: usize, width: usize) -> (Vec<usize>, usize) {
    let total_rows = rows(run, lanes, width, width).len();
    let launches = run.timeline.launch_positions();
    // bounds[k]: rows visible before launch k+1.
    let bounds: Vec<usize> = launches
        .iter()
        .map(|&at| {
            let mut before = run.clone();
            before.verdict = None;
            before.timeline = Timeline {
                events: run.timeline.events[..at].to_vec(),
            };
            rows(&before, lanes, width, width).len().min(total_rows)
        })
        .collect();
    let steps = (0..total_rows)
        .map(|i| bounds.iter().filter(|&&b| b <= i).count())
        .collect();
    (steps, launches.len())
}

/// The step controls under a timeline, `hidden` until the script shows them.
pub fn controls(total: usize) -> String {
    format!(
        "<nav class=\"stepper\" hidden><button type=\"button\" data-move=\"-1\">◀ back</button> \
         <span class=\"at\">step {total} of {total}</span> \
         <button type=\"button\" data-move=\"1\">next ▶</button></nav>\n"
    )
}

/// The one inline script of the page.
pub const SCRIPT: &str = r#"<script>
(function () {
  var runs = Array.prototype.slice.call(document.querySelectorAll('section.run[data-steps]'));
  function show(run, at) {
    var total = parseInt(run.getAttribute('data-steps'), 10);
    at = Math.max(0, Math.min(total, at));
    run.setAttribute('data-at', at);
    run.querySelectorAll('tr[data-step]').forEach(function (tr) {
      tr.hidden = parseInt(tr.getAttribute('data-step'), 10) > at;
    });
    var verdict = run.querySelector('.verdict');
    if (verdict) { verdict.hidden = at < total; }
    var label = run.querySelector('.stepper .at');
    if (label) { label.textContent = 'step ' + at + ' of ' + total; }
  }
  function fromHash() {
    var m = /step=(\d+)/.exec(location.hash);
    return m ? parseInt(m[1], 10) : null;
  }
  var start = fromHash();
  runs.forEach(function (run) {
    var nav = run.querySelector('.stepper');
    if (nav) { nav.hidden = false; }
    run.querySelectorAll('.stepper button').forEach(function (b) {
      b.addEventListener('click', function () {
        show(run, parseInt(run.getAttribute('data-at'), 10) + parseInt(b.getAttribute('data-move'), 10));
      });
    });
    show(run, start === null ? parseInt(run.getAttribute('data-steps'), 10) : start);
  });
  document.addEventListener('keydown', function (e) {
    var move = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (!move) { return; }
    runs.forEach(function (run) { show(run, parseInt(run.getAttribute('data-at'), 10) + move); });
  });
  window.addEventListener('hashchange', function () {
    var at = fromHash();
    if (at !== null) { runs.forEach(function (run) { show(run, at); }); }
  });
})();
</script>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_belong_to_the_step_that_made_them() {
        let run = crate::render::testing::two_session_run();
        let lanes = run.sessions.len();
        let (steps, total) = row_steps(&run, lanes, 10_000);
        assert!(total > 0);
        assert_eq!(steps.len(), rows(&run, lanes, 10_000, 10_000).len());
        assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{steps:?}");
        assert_eq!(*steps.last().unwrap(), total);
    }
}
