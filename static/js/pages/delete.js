// Delete through the API after a confirmation, shared by the dataset, job and architecture
// pages: the "Delete" button (#delete-open) opens #delete-dialog (templates/includes/
// delete_dialog.html); "Delete for good" sends DELETE to its data-url, then goes to its
// data-next. A refusal, such as the API's 409 for a job that is running, is shown in the
// dialog with the API's own message and nothing is left half-done; a dataset that jobs use
// is answered with "Delete with its N jobs" (the same DELETE with with_jobs=true).
import { request } from "./api.js";

// beforeLeaving runs once the delete has succeeded, before the page goes (the builder drops
// its draft there so that leaving does not ask about unsaved changes).
export function wireDelete({ beforeLeaving = () => {} } = {}) {
  const dialog = document.getElementById("delete-dialog");
  const confirmButton = document.getElementById("delete-confirm");
  const errorBox = document.getElementById("delete-error");
  // A dataset's dialog also has "Delete with its N jobs", offered once the API says jobs use it.
  const withJobs = document.getElementById("delete-with-jobs");
  document.getElementById("delete-open").addEventListener("click", () => {
    errorBox.hidden = true;
    dialog.showModal();
  });
  const send = async (button) => {
    button.disabled = true;
    try {
      await request("DELETE", button.dataset.url); // read now: the builder sets it after its first save
      beforeLeaving();
      window.location.assign(confirmButton.dataset.next);
    } catch (error) {
      if (withJobs && error.body.code === "dataset_in_use") {
        errorBox.textContent = withJobs.dataset.refused; // the page's words, not the API's query flag
        withJobs.hidden = false;
        withJobs.focus();
        confirmButton.disabled = true; // asking again would be refused again
      } else {
        errorBox.textContent = error.message;
        button.disabled = false;
      }
      errorBox.hidden = false;
    }
  };
  confirmButton.addEventListener("click", () => send(confirmButton));
  withJobs?.addEventListener("click", () => send(withJobs));
}
