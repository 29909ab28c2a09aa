//! Files residents sent by e-mail, for the staff who read the request in
//! full. A file may show anything (a face, a letter, a number plate): it is
//! personal data, closed under protected identity, and every download is
//! written to the access log before the file leaves.

use super::{AccessRecorder, RequestRecord, ServiceError, Services, actor};
use crate::domain::actor::Caller;
use crate::domain::policy::Access;
use crate::store;
pub use crate::store::attachments::AttachmentInfo;

/// A file as it leaves: what it is, and its bytes.
pub struct AttachmentFile {
    pub info: AttachmentInfo,
    pub content: Vec<u8>,
}

impl Services {
    /// Whether `caller` may see the files of `request`: full access, and
    /// under protected identity only the owning administration.
    pub fn may_see_attachments(&self, caller: &Caller, request: &RequestRecord) -> bool {
        self.access(caller, request) == Access::Full
            && (!request.protected_identity
                || caller
                    .actor()
                    .is_some_and(|a| a.handles(&request.administration)))
    }

    /// The files of a request the caller may see (checked by the caller).
    pub async fn attachments_of(
        &self,
        request: &RequestRecord,
    ) -> Result<Vec<AttachmentInfo>, ServiceError> {
        Ok(store::attachments::of_request(self.db(), request.id).await?)
    }

    /// One file for download; `NotFound` for a file the caller may not see,
    /// so that its existence does not leak.
    pub async fn attachment_for_staff(
        &self,
        caller: &Caller,
        id: i64,
    ) -> Result<AttachmentFile, ServiceError> {
        actor(caller)?;
        let file = store::attachments::find(self.db(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let request = store::requests::find_by_id(self.db(), file.request_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let request = RequestRecord::try_from(request)?;
        if !self.may_see_attachments(caller, &request) {
            return Err(ServiceError::NotFound);
        }
        let recorder = AccessRecorder::default();
        recorder.note(request.id, "attachments");
        self.record_access(caller, &recorder).await?;
        Ok(AttachmentFile {
            info: AttachmentInfo::of(&file),
            content: file.content,
        })
    }
}
