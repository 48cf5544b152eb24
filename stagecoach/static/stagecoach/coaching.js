// The session log: fill the ask/tell fields from a counted transcript.
document.addEventListener("htmx:afterSwap", (event) => {
  const result = document.getElementById("tally-result");
  if (!result || !result.dataset.questions) return;
  const asked = document.getElementById("id_questions_asked");
  const told = document.getElementById("id_directives_given");
  const source = document.getElementById("id_tally_source");
  if (asked) asked.value = result.dataset.questions;
  if (told) told.value = result.dataset.directives;
  if (source) source.value = result.dataset.source;
});
