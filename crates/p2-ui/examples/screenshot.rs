//! Takes a screenshot of a page in a headless Chromium: how `docs/p2-ui.png` is made.
//!
//! ```sh
//! sluicegate p2 --simulate demo --ui :0          # prints ui: http://127.0.0.1:PORT/#token=…
//! cargo run -p sluicegate-p2-ui --features devtools --example screenshot -- URL docs/p2-ui.png 1600 960 6000
//! ```
//! Arguments: the URL, the PNG to write, the page's width and height (1600 × 960), and how long to let the page
//! run first, in milliseconds (3000).

use std::time::Duration;

use sluicegate_p2_ui::devtools::Browser;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: screenshot URL OUT.png [WIDTH HEIGHT [WAIT_MS]]";
    let url = args.next().ok_or(usage)?;
    let out = args.next().ok_or(usage)?;
    let width = args.next().map_or(Ok(1600), |w| w.parse())?;
    let height = args.next().map_or(Ok(960), |h| h.parse())?;
    let wait = args.next().map_or(Ok(3000), |ms| ms.parse())?;
    let browser = Browser::launch(width, height)?;
    let page = browser.open(&url)?;
    std::thread::sleep(Duration::from_millis(wait));
    std::fs::write(&out, page.screenshot()?)?;
    eprintln!("wrote {out}");
    Ok(())
}
