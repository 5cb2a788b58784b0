//! `engine verify`.

use crate::args::VerifyFlags;
use crate::exit::{print_error, Exit};

pub fn verify(f: VerifyFlags) -> Exit {
    let args = distroduce_verify::VerifyArgs {
        scenario: f.scenario,
        expected: f.expected,
        out: f.out,
        brokers: f.brokers,
        wait: f.wait,
        settle: f.settle,
        report: f.report,
        only: f.only,
        consumer: f.consumer,
    };
    match distroduce_verify::verify(&args) {
        Ok(report) => {
            print!("{}", distroduce_verify::report::render(&report));
            if report.passed {
                Exit::Ok
            } else {
                Exit::Failed
            }
        }
        Err(e) => {
            print_error(&e);
            Exit::from_code(e.exit_code())
        }
    }
}
