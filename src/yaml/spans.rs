//! Scalar positions and styles in the original bytes (for in-place edits by the setters).
