/** Indonesian given names and family names for simulated officers (common, public-domain lists). */
// prettier-ignore
export const MALE_NAMES = [
  'Budi', 'Agus', 'Andi', 'Ahmad', 'Muhammad', 'Rudi', 'Hendra', 'Dedi', 'Eko', 'Joko', 'Bambang', 'Slamet',
  'Wahyu', 'Yusuf', 'Rizki', 'Fajar', 'Arif', 'Hadi', 'Imam', 'Teguh', 'Dian', 'Putu', 'Made', 'Ketut',
  'Wayan', 'Syamsul', 'Zainal', 'Irfan', 'Taufik', 'Rahmat', 'Sutrisno', 'Bayu', 'Dimas', 'Gilang', 'Heru',
  'Iwan', 'Kurniawan', 'Lukman', 'Nur', 'Oki', 'Pramono', 'Rahmad', 'Sigit', 'Tono', 'Usman', 'Yoga', 'Zulkifli',
  'Firman', 'Ilham', 'Anton', 'Doni', 'Edi', 'Ferry', 'Gunawan', 'Harun', 'Indra', 'Jaya', 'Krisna', 'Mulyadi',
];
// prettier-ignore
export const FEMALE_NAMES = [
  'Siti', 'Sri', 'Dewi', 'Rina', 'Wulan', 'Ani', 'Ratna', 'Yuni', 'Indah', 'Lestari', 'Fitri', 'Nurul', 'Putri',
  'Ayu', 'Dwi', 'Endang', 'Fatimah', 'Hana', 'Intan', 'Kartika', 'Lina', 'Maya', 'Nining', 'Okta', 'Purwanti',
  'Rahmawati', 'Sari', 'Tri', 'Umi', 'Vivi', 'Winda', 'Yanti', 'Zahra', 'Anisa', 'Citra', 'Desi', 'Erna',
  'Febri', 'Gita', 'Herlina', 'Ika', 'Juwita', 'Kurnia', 'Mega', 'Novi', 'Rini', 'Susanti', 'Tuti', 'Wati',
];
// prettier-ignore
export const FAMILY_NAMES = [
  'Santoso', 'Wijaya', 'Saputra', 'Pratama', 'Hidayat', 'Nugroho', 'Setiawan', 'Kusuma', 'Siregar', 'Nasution',
  'Harahap', 'Lubis', 'Simanjuntak', 'Sinaga', 'Pane', 'Rangkuti', 'Tanjung', 'Hasibuan', 'Sitompul', 'Ginting',
  'Tarigan', 'Sembiring', 'Purba', 'Damanik', 'Situmorang', 'Manurung', 'Panjaitan', 'Hutapea', 'Wibowo',
  'Susanto', 'Gunawan', 'Halim', 'Permana', 'Firmansyah', 'Ramadhan', 'Kurniawati', 'Handayani', 'Rahayu',
  'Utami', 'Safitri', 'Maharani', 'Anggraini', 'Puspita', 'Wulandari', 'Yulianti', 'Suryani', 'Marpaung',
  'Pohan', 'Daulay', 'Batubara', 'Matondang', 'Sihombing', 'Lumbantobing', 'Pasaribu', 'Rumapea', 'Tambunan',
  'Mahendra', 'Syahputra', 'Hakim', 'Fauzi', 'Hasanah', 'Aritonang', 'Latif', 'Mokoginta', 'Pattimura',
];
// prettier-ignore
export const PREFIX_TITLES = ['Dr.', 'Ir.', 'Drs.', 'Dra.', 'H.', 'Hj.'];
// prettier-ignore
export const SUFFIX_TITLES = ['S.E.', 'S.H.', 'S.Sos.', 'S.Kom.', 'S.Psi.', 'S.T.', 'M.M.', 'M.Si.', 'M.Pd.', 'S.AP.', 'M.AP.'];
// prettier-ignore
export const INDONESIAN_MONTHS = [
  'Januari', 'Februari', 'Maret', 'April', 'Mei', 'Juni', 'Juli', 'Agustus', 'September', 'Oktober', 'November',
  'Desember',
];
