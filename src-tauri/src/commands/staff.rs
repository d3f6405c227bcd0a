//! Staff access (security admin), online only: the server decides who may
//! change whom; the app shows the accounts and what it said.

use super::{App, Reply};
use crate::trace::reply;
use countersign_client::api::{CreateStaff, StaffId, StaffMember, StaffUpdate};
use countersign_client::api_client::StaffFilter;

#[tauri::command(rename_all = "snake_case")]
pub async fn staff_list(app: App<'_>, filter: StaffFilter) -> Reply<Vec<StaffMember>> {
    reply("staff_list", app.staff(filter).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn staff_create(app: App<'_>, member: CreateStaff) -> Reply<StaffMember> {
    reply("staff_create", app.create_staff(member).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn staff_update(app: App<'_>, staff_id: StaffId, update: StaffUpdate) -> Reply<StaffMember> {
    reply("staff_update", app.update_staff(staff_id, update).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn staff_deactivate(app: App<'_>, staff_id: StaffId, reason: String) -> Reply<StaffMember> {
    reply("staff_deactivate", app.deactivate_staff(staff_id, reason).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn staff_reactivate(app: App<'_>, staff_id: StaffId) -> Reply<StaffMember> {
    reply("staff_reactivate", app.reactivate_staff(staff_id).await)
}
