//! The window registry (`docs/p2-protocol.md` A.3, A.4): windows declared by backtick commands, looked up
//! case-insensitively by name, cleared on reboot.

use crate::classify::WindowType;

/// A window's identity for destinations: a new declaration of the same name gets a new id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WindowId(u32);

impl WindowId {
    /// The number, unique within one registry (until it wraps after 2³² declarations).
    pub fn get(self) -> u32 {
        self.0
    }
}

/// A declared window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    id: WindowId,
    window_type: WindowType,
    name: Box<[u8]>,
}

impl Window {
    /// Its id.
    pub fn id(&self) -> WindowId {
        self.id
    }

    /// Its type.
    pub fn window_type(&self) -> WindowType {
        self.window_type
    }

    /// Its name as declared (original case; B.3).
    pub fn name(&self) -> &[u8] {
        &self.name
    }
}

/// Why a backtick command could not be applied (A.4). Counted, and sent to event subscribers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WindowError {
    /// An update whose first token names no existing window (no preceding declaration).
    #[error("window update failed: no window of that name (no preceding declaration)")]
    UnknownWindow,
    /// A declaration with a type and no name.
    #[error("window declaration without a name")]
    MissingName,
}

/// The windows declared since the last reboot.
///
/// A plain vector searched with an ASCII case-insensitive comparison: programs declare a handful of windows,
/// and this keeps the per-update path free of hashing and allocation (only declarations allocate, for the name).
///
/// # Examples
/// ```
/// use sluicegate_p2::{WindowRegistry, WindowType};
/// let mut registry = WindowRegistry::new();
/// let id = registry.create(WindowType::Term, b"MyTerm").id();
/// assert_eq!(registry.find(b"MYTERM").map(|w| w.id()), Some(id));
/// registry.clear();
/// assert!(registry.find(b"myterm").is_none());
/// ```
#[derive(Clone, Debug, Default)]
pub struct WindowRegistry {
    windows: Vec<Window>,
    next_id: u32,
    /// One bit per byte value (lower-cased) that some window's name starts with.
    first_bytes: [u64; 4],
}

impl WindowRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a window; a window of the same name (any case) is replaced (B.3).
    pub fn create(&mut self, window_type: WindowType, name: &[u8]) -> &Window {
        self.windows.retain(|window| !window.name.eq_ignore_ascii_case(name));
        let id = WindowId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        self.windows.push(Window {
            id,
            window_type,
            name: name.into(),
        });
        self.first_bytes = [0; 4];
        for window in &self.windows {
            if let Some(&first) = window.name.first() {
                let first = first.to_ascii_lowercase();
                self.first_bytes[usize::from(first >> 6)] |= 1 << (first & 63);
            }
        }
        &self.windows[self.windows.len() - 1]
    }

    /// The window called `name`, compared ASCII case-insensitively (B.3).
    pub fn find(&self, name: &[u8]) -> Option<&Window> {
        self.windows
            .iter()
            .find(|window| window.name.eq_ignore_ascii_case(name))
    }

    /// The index of the window called `name`, for [`get`](Self::get).
    pub(crate) fn position(&self, name: &[u8]) -> Option<usize> {
        self.windows
            .iter()
            .position(|window| window.name.eq_ignore_ascii_case(name))
    }

    /// The window at `index`.
    pub(crate) fn get(&self, index: usize) -> Option<&Window> {
        self.windows.get(index)
    }

    /// Forgets every window (A.4: on reboot the program declares its windows again).
    pub fn clear(&mut self) {
        self.windows.clear();
        self.first_bytes = [0; 4];
    }

    /// Whether some window's name starts with `byte` (ASCII case-insensitively): a token that starts otherwise
    /// names no window, without comparing it to each name.
    pub(crate) fn may_start_a_name(&self, byte: u8) -> bool {
        let byte = byte.to_ascii_lowercase();
        self.first_bytes[usize::from(byte >> 6)] & (1 << (byte & 63)) != 0
    }

    /// The windows, oldest declaration first.
    pub fn iter(&self) -> impl Iterator<Item = &Window> {
        self.windows.iter()
    }

    /// How many windows exist.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// Whether no window exists.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redeclaring_a_name_in_any_case_replaces_the_window() {
        let mut registry = WindowRegistry::new();
        let first = registry.create(WindowType::Scope, b"Scope1").id();
        registry.create(WindowType::Term, b"other");
        let second = registry.create(WindowType::Logic, b"SCOPE1").id();
        assert_ne!(first, second);
        assert_eq!(registry.len(), 2);
        let window = registry.find(b"scope1").unwrap();
        assert_eq!(
            (window.id(), window.window_type(), window.name()),
            (second, WindowType::Logic, &b"SCOPE1"[..])
        );
        assert!(registry.find(b"scope").is_none());
    }

    #[test]
    fn first_bytes_follow_the_names_in_any_case() {
        let mut registry = WindowRegistry::new();
        registry.create(WindowType::Term, b"Alpha");
        registry.create(WindowType::Term, b"\xE9t\xE9");
        assert!(registry.may_start_a_name(b'a') && registry.may_start_a_name(b'A'));
        assert!(
            registry.may_start_a_name(0xE9) && !registry.may_start_a_name(0xC9),
            "ASCII case only"
        );
        assert!(!registry.may_start_a_name(b'$') && !registry.may_start_a_name(b'b'));
        registry.create(WindowType::Logic, b"ALPHA");
        assert!(registry.may_start_a_name(b'a'), "a replaced name keeps its first byte");
        registry.clear();
        assert!((0..=255).all(|byte| !registry.may_start_a_name(byte)));
    }
}
