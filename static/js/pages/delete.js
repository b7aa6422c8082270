// Delete through the API after a confirmation, shared by the dataset, job and architecture
// pages: the "Delete" button (#delete-open) opens #delete-dialog (templates/includes/
// delete_dialog.html); "Delete for good" sends DELETE to its data-url, then goes to its
// data-next. A refusal, such as the API's 409 for a job that is running, is shown in the
// dialog with the API's own message and nothing is left half-done.
import { request } from "./api.js";

// beforeLeaving runs once the delete has succeeded, before the page goes (the builder drops
// its draft there so that leaving does not ask about unsaved changes).
export function wireDelete({ beforeLeaving = () => {} } = {}) {
  const dialog = document.getElementById("delete-dialog");
  const confirmButton = document.getElementById("delete-confirm");
  const errorBox = document.getElementById("delete-error");
  document.getElementById("delete-open").addEventListener("click", () => {
    errorBox.hidden = true;
    dialog.showModal();
  });
  confirmButton.addEventListener("click", async () => {
    confirmButton.disabled = true;
    try {
      await request("DELETE", confirmButton.dataset.url); // read now: the builder sets it after its first save
      beforeLeaving();
      window.location.assign(confirmButton.dataset.next);
    } catch (error) {
      errorBox.textContent = error.message;
      errorBox.hidden = false;
      confirmButton.disabled = false;
    }
  });
}
