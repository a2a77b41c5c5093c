//! One page's WebSocket: a writer that sends the page what changed, at most [`IN_FLIGHT_MAX`] updates ahead of
//! what it has drawn, and a reader that takes the page's input to the live session.
//!
//! Flow control is the page's acknowledgement: it draws updates in `requestAnimationFrame` and acknowledges each
//! one drawn, so a page never gets more than about one update per animation frame, and a slow, hidden or stalled
//! page simply stops asking. The [`Viewer`] then gathers everything it misses into the next update: intermediate
//! frames are skipped, pixels and text never lost. Nothing here ever waits on the receive pipeline or makes it
//! wait: the viewer reads what the display host last published.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use sluicegate_p2_live::{Buttons, Viewer};
use tokio::sync::mpsc;

use crate::server::Shared;
use crate::wire::{self, PageMessage};

/// Updates sent and not yet drawn, at most: two keep the pipe busy over a link with some latency (an SSH
/// forward) while a stalled page costs at most two updates.
pub(crate) const IN_FLIGHT_MAX: usize = 2;

/// How often a paused page still gets the status.
const STATUS_WHILE_PAUSED: Duration = Duration::from_millis(500);

/// Messages between the reader and the writer.
const EVENTS: usize = 64;

/// What the reader tells the writer.
#[derive(Debug)]
enum PageEvent {
    Ack,
    Pause(bool),
    /// A reply for the page (a hover read-out, a control's outcome).
    Text(String),
}

/// Serves one page until it closes, the socket fails, or the server stops.
pub(crate) async fn serve(socket: WebSocket, shared: &Arc<Shared>) {
    let (sink, stream) = socket.split();
    let (events, outgoing) = mpsc::channel(EVENTS);
    let viewer = shared.handle.viewer();
    tokio::select! {
        () = write(sink, viewer, outgoing, shared) => {}
        () = read(stream, events, shared) => {}
    }
}

async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut viewer: Viewer,
    mut events: mpsc::Receiver<PageEvent>,
    shared: &Shared,
) {
    let mut closing = shared.closing.clone();
    let mut paused = false;
    let mut live = true;
    let mut status = tokio::time::interval(STATUS_WHILE_PAUSED);
    let mut in_flight = 1;
    if send_update(&mut sink, &mut viewer).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            () = stopping(&mut closing) => {
                let close = CloseFrame { code: 1001, reason: "sluicegate ended".into() };
                let _ = sink.send(Message::Close(Some(close))).await;
                return;
            }
            event = events.recv() => {
                let sent = match event {
                    None => return,
                    Some(PageEvent::Ack) => {
                        in_flight = usize::saturating_sub(in_flight, 1);
                        Ok(())
                    }
                    Some(PageEvent::Pause(on)) => {
                        paused = on;
                        Ok(())
                    }
                    Some(PageEvent::Text(text)) => sink.send(Message::Text(text.into())).await,
                };
                if sent.is_err() {
                    return;
                }
            }
            alive = viewer.changed(), if live && !paused && in_flight < IN_FLIGHT_MAX => {
                live = alive;
                match send_update(&mut sink, &mut viewer).await {
                    Ok(true) => in_flight += 1,
                    Ok(false) => {}
                    Err(_) => return,
                }
            }
            _ = status.tick(), if paused => {
                let text = wire::status_message(&shared.handle.status());
                if sink.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
                in_flight += 1;
            }
        }
    }
}

/// Returns once the server stops.
async fn stopping(closing: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = closing.wait_for(|closing| *closing).await;
}

/// Sends what changed since the last poll, if anything: the update's text, then one binary message per frame.
async fn send_update(sink: &mut SplitSink<WebSocket, Message>, viewer: &mut Viewer) -> Result<bool, axum::Error> {
    let update = viewer.poll();
    if update.is_empty() {
        return Ok(false);
    }
    sink.feed(Message::Text(wire::update_message(&update).into())).await?;
    for frame in &update.frames {
        let mut bytes = Vec::new();
        wire::encode_frame(frame, &mut bytes);
        sink.feed(Message::Binary(bytes.into())).await?;
    }
    sink.flush().await?;
    Ok(true)
}

async fn read(mut stream: SplitStream<WebSocket>, events: mpsc::Sender<PageEvent>, shared: &Shared) {
    let handle = &shared.handle;
    // The display the pointer is over: told it left when the page goes.
    let mut hovered = None;
    while let Some(Ok(message)) = stream.next().await {
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => break,
            _ => continue,
        };
        let message = match PageMessage::parse(&text) {
            Ok(message) => message,
            Err(error) => {
                tracing::debug!(%error, "page message refused");
                continue;
            }
        };
        match message {
            PageMessage::Ack => {
                let _ = events.send(PageEvent::Ack).await;
            }
            PageMessage::Pause { on } => {
                let _ = events.send(PageEvent::Pause(on)).await;
            }
            PageMessage::Key { d, key, ctrl } => {
                if let Some(key) = wire::key(&key, ctrl) {
                    handle.key(d, key);
                }
            }
            PageMessage::Pointer { d, x, y, buttons } => {
                if let Some(left) = hovered.filter(|&hovered| hovered != d) {
                    handle.pointer(left, None, Buttons::default());
                }
                hovered = Some(d);
                handle.pointer(d, Some((x, y)), wire::buttons(buttons));
                let text = handle.hover_text(d, (x, y)).await;
                let _ = events.try_send(PageEvent::Text(wire::hover_message(d, text.as_deref())));
            }
            PageMessage::Leave { d } => {
                handle.pointer(d, None, Buttons::default());
                if hovered == Some(d) {
                    hovered = None;
                }
            }
            PageMessage::Wheel { d, up } => handle.wheel(d, up),
            PageMessage::Send { text } => {
                let handle = handle.clone();
                let sent = tokio::task::spawn_blocking(move || handle.transmit(text.as_bytes())).await;
                let result = match sent {
                    Ok(Ok(())) => Ok(String::new()),
                    Ok(Err(error)) => Err(error.to_string()),
                    Err(error) => Err(error.to_string()),
                };
                let _ = events
                    .send(PageEvent::Text(wire::control_message("send", result)))
                    .await;
            }
            PageMessage::Reset => {
                let handle = handle.clone();
                let reset = tokio::task::spawn_blocking(move || handle.reset()).await;
                let result = match reset {
                    Ok(Ok(())) => Ok("reset pulse sent".to_owned()),
                    Ok(Err(error)) => Err(error.to_string()),
                    Err(error) => Err(error.to_string()),
                };
                let _ = events
                    .send(PageEvent::Text(wire::control_message("reset", result)))
                    .await;
            }
            PageMessage::Record { on } => {
                let result = record(shared, on).await;
                let _ = events
                    .send(PageEvent::Text(wire::control_message("record", result)))
                    .await;
            }
        }
    }
    if let Some(display) = hovered {
        handle.pointer(display, None, Buttons::default());
    }
}

/// Starts a recording named for the local time in the recordings directory, or stops the one running.
async fn record(shared: &Shared, on: bool) -> Result<String, String> {
    let handle = shared.handle.clone();
    let path = shared.recordings.join(format!(
        "sluicegate-{}.sgrec",
        chrono::Local::now().format("%Y%m%d-%H%M%S")
    ));
    let outcome = tokio::task::spawn_blocking(move || {
        if on {
            handle
                .start_recording(&path)
                .map(|()| format!("recording to {}", path.display()))
        } else {
            handle.stop_recording().map(|path| match path {
                Some(path) => format!("recorded {}", path.display()),
                None => "nothing was being recorded".to_owned(),
            })
        }
    })
    .await;
    match outcome {
        Ok(Ok(message)) => Ok(message),
        Ok(Err(error)) => Err(error.to_string()),
        Err(error) => Err(error.to_string()),
    }
}
