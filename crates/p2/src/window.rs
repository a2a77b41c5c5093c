//! The window registry (p2-protocol A.3, A.4): windows declared by backtick commands, looked up
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
}
