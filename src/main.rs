use txlab::db::{Sandbox, Server};
use txlab::engine::{IsolationLevel, RunOptions, catalog, run_lesson};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let t = std::time::Instant::now();
    let server = Server::resolve(std::env::var("DATABASE_URL").ok().as_deref()).unwrap();
    eprintln!("server up in {:?} {:?}", t.elapsed(), server.local_cluster().map(|c| c.timings));
    let sandbox = Sandbox::new();
    let lesson = catalog::find("lost-update").unwrap();
    for level in IsolationLevel::ALL {
        let run = run_lesson(&server, &sandbox, &lesson, Some(level), &RunOptions::default()).await.unwrap();
        for e in &run.timeline.events { println!("{:>8.2} s{:?} {:?}", e.t.as_secs_f64()*1000.0, e.session, e.kind); }
        println!("{level}: {:?} in {:?}/{:?}", run.verdict, run.schedule_time, run.total_time);
    }
}
