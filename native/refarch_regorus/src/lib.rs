// Copyright: contributors to refarch.containers
// GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
//! A minimal binding over `regorus::Engine` for the collection's embedded engine.
//!
//! Values cross the boundary as JSON text: Python's `json` and serde_json are both
//! fast, and it keeps this binding free of any Python-object conversion code.
//! Every regorus error becomes a Python `RegoError` carrying regorus' own message
//! (which names the policy file, line and column).

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(refarch_regorus, RegoError, PyException);

fn rego_error(e: impl std::fmt::Display) -> PyErr {
    RegoError::new_err(e.to_string())
}

/// One regorus engine: policies and data are loaded once, then input is set and
/// rules are evaluated as many times as needed.
#[pyclass(unsendable)]
struct Engine {
    inner: regorus::Engine,
}

#[pymethods]
impl Engine {
    #[new]
    fn new() -> Self {
        let mut inner = regorus::Engine::new();
        inner.set_rego_v0(false);
        Engine { inner }
    }

    /// Add one Rego (v1) module; `path` is used in error messages. Returns the package name.
    fn add_policy(&mut self, path: String, text: String) -> PyResult<String> {
        self.inner.add_policy(path, text).map_err(rego_error)
    }

    /// Merge a JSON object into the base documents (`data`).
    fn add_data_json(&mut self, text: &str) -> PyResult<()> {
        self.inner.add_data_json(text).map_err(rego_error)
    }

    /// Replace the input document with the given JSON value.
    fn set_input_json(&mut self, text: &str) -> PyResult<()> {
        self.inner.set_input_json(text).map_err(rego_error)
    }

    /// Make builtin errors (type errors, bad regexes...) fail the evaluation instead of
    /// making the expression undefined.
    fn set_strict_builtin_errors(&mut self, on: bool) {
        self.inner.set_strict_builtin_errors(on)
    }

    /// Evaluate a rule by its full path (`data.pkg.rule`); JSON text, or None when undefined.
    fn eval_rule_json(&mut self, rule: String) -> PyResult<Option<String>> {
        let value = self.inner.eval_rule(rule).map_err(rego_error)?;
        if value == regorus::Value::Undefined {
            return Ok(None);
        }
        // Compact JSON (regorus' own to_json_str pretty-prints): one line, less to parse.
        serde_json::to_string(&value).map(Some).map_err(rego_error)
    }
}

/// The regorus crate version this binding was built against.
#[pyfunction]
fn regorus_version() -> &'static str {
    "0.14.1"
}

#[pymodule]
fn refarch_regorus(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_function(wrap_pyfunction!(regorus_version, m)?)?;
    m.add("RegoError", m.py().get_type::<RegoError>())?;
    Ok(())
}
