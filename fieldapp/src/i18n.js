// The app's own words in Mongolian (the default) and English. Form texts
// (labels, hints, constraint messages) come from the form definitions.

const TEXTS = {
  mn: {
    app_name: 'Талбарын маягт',
    language: 'English',
    login_title: 'Нэвтрэх',
    login_hint: 'Нэг удаа нэвтэрнэ; нууц үгийг төхөөрөмжид хадгалахгүй.',
    user_name: 'Хэрэглэгчийн нэр',
    password: 'Нууц үг',
    log_in: 'Нэвтрэх',
    log_out: 'Гарах',
    login_failed: 'Нэр эсвэл нууц үг буруу байна.',
    login_offline: 'Сүлжээ алга байна. Анхны нэвтрэлтэд сүлжээ хэрэгтэй.',
    login_again: 'Сервер таныг дахин нэвтрэхийг хүсэж байна. Маягт бөглөх ажил үргэлжилнэ.',
    sync: 'Синк хийх',
    syncing: 'Синк хийж байна…',
    online: 'Сүлжээтэй',
    offline: 'Сүлжээгүй',
    sync_error: 'Синк амжилтгүй; дахин оролдоно.',
    last_sync: 'Сүүлийн синк',
    never: 'хийгээгүй',
    waiting: 'Илгээгдэхийг хүлээж буй',
    sent_up: 'илгээсэн',
    received_down: 'хүлээн авсан',
    new_form: 'Шинэ маягт',
    no_forms: 'Маягт алга. Сүлжээтэй үед синк хийнэ үү.',
    drafts: 'Ноорог',
    no_drafts: 'Ноорог алга.',
    sent: 'Илгээсэн',
    inbox: 'Мэдэгдэл',
    inbox_empty: 'Шинэ мэдэгдэл алга.',
    home: 'Нүүр',
    area: 'Нутаг',
    save_draft: 'Ноорог хадгалах',
    draft_saved: 'Ноорог хадгалагдсан',
    send: 'Илгээх',
    resend: 'Засаад дахин илгээх',
    delete_draft: 'Ноорог устгах',
    confirm_delete: 'Энэ ноорогийг устгах уу?',
    fix_errors: 'Алдааг засна уу: {n}',
    queued: 'Илгээлт хадгалагдлаа; сүлжээтэй үед илгээгдэнэ.',
    add_entry: 'Нэмэх',
    remove_entry: 'Хасах',
    entry: 'Бичлэг',
    record_location: 'Байршил тэмдэглэх',
    locating: 'Байршил тогтоож байна…',
    location_failed: 'Байршил тогтоогдсонгүй: {reason}',
    accuracy: 'нарийвчлал',
    take_photo: 'Зураг авах / сонгох',
    remove_photo: 'Зураг хасах',
    photo_size: '{kb} КБ',
    choose: '— сонгох —',
    refused: 'Буцаагдсан',
    refused_help: 'Сервер дараах шалтгаанаар хүлээж аваагүй:',
    accepted: 'Засвар хүлээн авагдсан',
    released: 'Зохицуулагч хүлээн авсан',
    discarded: 'Зохицуулагч хаасан',
    review: 'Хяналт',
    state_has_issues: 'Засах зүйлтэй',
    state_approved: 'Зөвшөөрсөн',
    state_rejected: 'Татгалзсан',
    state_received: 'Хүлээн авсан',
    state_edited: 'Засварласан, хяналт хүлээж буй',
    comments: 'Сэтгэгдэл',
    open: 'Нээх',
    required_mark: 'заавал',
    version: 'хувилбар',
    not_found: 'Олдсонгүй.',
    updated: 'Шинэчилсэн',
    install_hint: 'Энэ аппыг утсандаа суулгаж болно (хөтчийн цэснээс "Нүүр дэлгэцэнд нэмэх").',
    form_unavailable: 'Энэ маягтын хувилбар төхөөрөмжид алга.',
  },
  en: {
    app_name: 'Field forms',
    language: 'Монгол',
    login_title: 'Log in',
    login_hint: 'You log in once; the password is not kept on the device.',
    user_name: 'User name',
    password: 'Password',
    log_in: 'Log in',
    log_out: 'Log out',
    login_failed: 'The name or password is incorrect.',
    login_offline: 'No network. The first log-in needs a connection.',
    login_again: 'The server asks you to log in again. You can keep filling in forms.',
    sync: 'Sync',
    syncing: 'Syncing…',
    online: 'Online',
    offline: 'Offline',
    sync_error: 'Sync failed; it will retry.',
    last_sync: 'Last sync',
    never: 'never',
    waiting: 'Waiting to be sent',
    sent_up: 'sent',
    received_down: 'received',
    new_form: 'New form',
    no_forms: 'No forms yet. Sync while online.',
    drafts: 'Drafts',
    no_drafts: 'No drafts.',
    sent: 'Sent',
    inbox: 'Inbox',
    inbox_empty: 'Nothing new.',
    home: 'Home',
    area: 'Area',
    save_draft: 'Save draft',
    draft_saved: 'Draft saved',
    send: 'Send',
    resend: 'Fix and resend',
    delete_draft: 'Delete draft',
    confirm_delete: 'Delete this draft?',
    fix_errors: 'Fix the problems first: {n}',
    queued: 'Saved for sending; it goes with the next sync.',
    add_entry: 'Add',
    remove_entry: 'Remove',
    entry: 'Entry',
    record_location: 'Record location',
    locating: 'Finding the location…',
    location_failed: 'No location: {reason}',
    accuracy: 'accuracy',
    take_photo: 'Take or choose a photo',
    remove_photo: 'Remove photo',
    photo_size: '{kb} KB',
    choose: '— choose —',
    refused: 'Refused',
    refused_help: 'The server did not accept it, because:',
    accepted: 'Fix accepted',
    released: 'Accepted by a coordinator',
    discarded: 'Closed by a coordinator',
    review: 'Review',
    state_has_issues: 'Has issues',
    state_approved: 'Approved',
    state_rejected: 'Rejected',
    state_received: 'Received',
    state_edited: 'Edited, waiting for review',
    comments: 'Comments',
    open: 'Open',
    required_mark: 'required',
    version: 'version',
    not_found: 'Not found.',
    updated: 'Updated',
    install_hint: 'You can install this app on your phone (browser menu, "Add to home screen").',
    form_unavailable: 'This form version is not on the device.',
  },
};

export const LANGUAGES = ['mn', 'en'];
const KEY = 'fieldsync.lang';

let current = 'mn';

export function initLanguage(storage = globalThis.localStorage) {
  const saved = storage && storage.getItem(KEY);
  current = LANGUAGES.includes(saved) ? saved : 'mn';
  return current;
}

export function language() {
  return current;
}

export function setLanguage(lang, storage = globalThis.localStorage) {
  if (!LANGUAGES.includes(lang)) return;
  current = lang;
  if (storage) storage.setItem(KEY, lang);
}

/** The app's text `key` in the current language, with {name} filled from params. */
export function t(key, params = {}) {
  const text = TEXTS[current][key] ?? TEXTS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** A form's per-language text (label, hint, title) in the current language. */
export function local(texts) {
  if (!texts) return '';
  return texts[current] || texts.en || Object.values(texts)[0] || '';
}

export { TEXTS };
