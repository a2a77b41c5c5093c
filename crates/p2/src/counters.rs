//! What came out of a deframer, counted: by the [`Deframer`](crate::Deframer) itself for one life
//! ([`FramingCounters`]), and by whoever hands its outputs on across lives (the pipeline, whose worker restarts
//! with a fresh deframer) with [`OutputCounters::count`].

use crate::message::{DiscardReason, Flags, MessageKind, OutputRef};

/// Counts of emitted messages and discards. `messages == Σ per_kind.messages` and
/// `message_bytes == Σ per_kind.bytes`; serialised with snake_case keys, flat.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutputCounters {
    /// Messages emitted.
    pub messages: u64,
    /// Bytes in emitted messages.
    pub message_bytes: u64,
    /// Bytes discarded, for any reason (the sum of the three below).
    pub discarded_bytes: u64,
    /// Zero padding after debugger packets (A.2.0).
    pub padding_bytes: u64,
    /// Bytes skipped while resynchronising after a gap (A.5).
    pub resync_bytes: u64,
    /// Starts of packets whose remainder was lost in a gap, or that the input ended in (A.5).
    pub truncated_bytes: u64,
    /// Lines emitted flagged `overlong`.
    pub overlong_flushes: u64,
    /// Lines emitted flagged `partial` (idle) or `resync` (cut by a gap).
    pub partial_flushes: u64,
    /// Messages that spanned chunks and were assembled into a buffer of their own.
    pub assembled_messages: u64,
    /// Golden-sync lines seen (A.3).
    pub golden_syncs: u64,
    /// Messages and bytes per kind.
    pub per_kind: PerKind,
}

impl OutputCounters {
    /// Counts one output.
    ///
    /// # Examples
    /// ```
    /// use std::time::Instant;
    /// use sluicegate_p2::{Config, Deframer, OutputCounters};
    ///
    /// let mut deframer = Deframer::new(Config::default()).unwrap();
    /// deframer.handle_bytes(b"Cog0  hi\r\n", Instant::now());
    /// let mut counted = OutputCounters::default();
    /// while let Some(output) = deframer.poll_ref() {
    ///     counted.count(&output);
    /// }
    /// assert_eq!((counted.messages, counted.message_bytes), (1, 10));
    /// assert_eq!(counted, deframer.counters().outputs);
    /// ```
    pub fn count(&mut self, output: &OutputRef<'_>) {
        match output {
            OutputRef::Message(message) => {
                self.count_message(message.kind, message.flags, message.bytes().len());
                self.messages += 1;
                self.message_bytes += message.bytes().len() as u64;
            }
            OutputRef::Discard(discard) => self.count_discard(discard.reason, discard.bytes().len()),
        }
    }

    /// Counts a message in `per_kind` and the flag counters only: `messages` and `message_bytes` are summed
    /// from `per_kind` by [`settled`](Self::settled) (one addition less per message on the deframer's hot path).
    #[inline(always)]
    pub(crate) fn count_message(&mut self, kind: MessageKind, flags: Flags, len: usize) {
        if flags != Flags::NONE {
            self.overlong_flushes += u64::from(flags.contains(Flags::OVERLONG));
            self.partial_flushes += u64::from(flags.contains(Flags::PARTIAL) || flags.contains(Flags::RESYNC));
            self.golden_syncs += u64::from(flags.contains(Flags::GOLDEN_SYNC));
            self.assembled_messages += u64::from(flags.contains(Flags::ASSEMBLED));
        }
        let count = &mut self.per_kind.0[usize::from(kind.code())];
        count.messages += 1;
        count.bytes += len as u64;
    }

    #[inline]
    pub(crate) fn count_discard(&mut self, reason: DiscardReason, len: usize) {
        let bytes = len as u64;
        self.discarded_bytes += bytes;
        match reason {
            DiscardReason::Padding => self.padding_bytes += bytes,
            DiscardReason::Resync => self.resync_bytes += bytes,
            DiscardReason::Truncated => self.truncated_bytes += bytes,
        }
    }

    /// These counters with `messages` and `message_bytes` summed from `per_kind`.
    pub(crate) fn settled(mut self) -> Self {
        self.messages = self.per_kind.0.iter().map(|count| count.messages).sum();
        self.message_bytes = self.per_kind.0.iter().map(|count| count.bytes).sum();
        self
    }
}

/// A deframer's counters (A.1: `bytes_in == outputs.message_bytes + outputs.discarded_bytes + pending`),
/// serialised as one flat object with snake_case keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FramingCounters {
    /// Bytes given to the deframer.
    pub bytes_in: u64,
    /// Gaps reported with [`Deframer::handle_gap`](crate::Deframer::handle_gap).
    pub gaps: u64,
    /// Bytes those gaps lost: never given to the deframer, so not part of `bytes_in`.
    pub lost_bytes: u64,
    /// What the deframer emitted.
    #[serde(flatten)]
    pub outputs: OutputCounters,
}

/// Messages and bytes of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct KindCount {
    /// Messages of this kind.
    pub messages: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// [`KindCount`]s indexed by kind; serialised as a map keyed by [`MessageKind::name`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerKind([KindCount; MessageKind::COUNT]);

impl PerKind {
    /// The count for `kind`.
    pub fn get(&self, kind: MessageKind) -> KindCount {
        self.0[usize::from(kind.code())]
    }

    /// The kinds seen at least once, with their counts, in code order.
    pub fn seen(&self) -> impl Iterator<Item = (MessageKind, KindCount)> + '_ {
        MessageKind::all()
            .map(|kind| (kind, self.get(kind)))
            .filter(|(_, count)| count.messages > 0)
    }
}

impl serde::Serialize for PerKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(MessageKind::COUNT))?;
        for kind in MessageKind::all() {
            map.serialize_entry(kind.name(), &self.get(kind))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_counters_serialise_as_one_flat_object_with_snake_case_keys() {
        let json = serde_json::to_value(FramingCounters::default()).unwrap();
        for key in [
            "bytes_in",
            "gaps",
            "messages",
            "message_bytes",
            "padding_bytes",
            "discarded_bytes",
            "golden_syncs",
        ] {
            assert_eq!(json[key], 0, "{key}");
        }
        assert!(json.get("outputs").is_none(), "flattened");
        assert!(json["per_kind"]["debugger7"].is_object());
    }
}
