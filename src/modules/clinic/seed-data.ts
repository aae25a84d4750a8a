/** Name and place lists for realistic Kenyan demo data (npm run seed). */

export const FEMALE_NAMES = [
  'Wanjiru', 'Achieng', 'Akinyi', 'Nyambura', 'Wambui', 'Njeri', 'Atieno', 'Chebet', 'Jepchirchir', 'Mwende',
  'Mumbua', 'Nafula', 'Nekesa', 'Kerubo', 'Moraa', 'Kemunto', 'Zawadi', 'Amani', 'Halima', 'Fatuma',
  'Amina', 'Mary', 'Grace', 'Faith', 'Mercy', 'Esther', 'Joyce', 'Ann', 'Lucy', 'Caroline',
  'Beatrice', 'Purity', 'Winnie', 'Sharon', 'Brenda', 'Naliaka', 'Adhiambo', 'Awino', 'Jelagat', 'Cherono',
  'Kanini', 'Wairimu', 'Nyokabi', 'Wangari', 'Muthoni', 'Saida', 'Rehema', 'Imani', 'Nasimiyu', 'Makena',
] as const;

export const MALE_NAMES = [
  'Kamau', 'Otieno', 'Ochieng', 'Mwangi', 'Kiprotich', 'Kipchoge', 'Mutua', 'Musyoka', 'Wafula', 'Barasa',
  'Omondi', 'Onyango', 'Njoroge', 'Kariuki', 'Kimani', 'Cheruiyot', 'Kibet', 'Langat', 'Juma', 'Hassan',
  'Ali', 'Baraka', 'John', 'Peter', 'James', 'Joseph', 'David', 'Daniel', 'Samuel', 'Brian',
  'Kevin', 'Dennis', 'Collins', 'Victor', 'Moses', 'Wekesa', 'Simiyu', 'Ouma', 'Odhiambo', 'Mutiso',
  'Nyamweya', 'Ongeri', 'Mohamed', 'Abdi', 'Kiplagat', 'Rotich', 'Maina', 'Gitau', 'Ndungu', 'Karanja',
] as const;

export const SURNAMES = [
  'Kamau', 'Mwangi', 'Njoroge', 'Kariuki', 'Kimani', 'Maina', 'Gitau', 'Ndungu', 'Karanja', 'Wanjiku',
  'Otieno', 'Ochieng', 'Omondi', 'Onyango', 'Odhiambo', 'Ouma', 'Owino', 'Okoth', 'Oduor', 'Awuor',
  'Wafula', 'Barasa', 'Wekesa', 'Simiyu', 'Wanyama', 'Makokha', 'Masinde', 'Nyongesa', 'Khaemba', 'Shikuku',
  'Kiprotich', 'Cheruiyot', 'Kibet', 'Langat', 'Koech', 'Rotich', 'Kiplagat', 'Kosgei', 'Ruto', 'Tanui',
  'Mutua', 'Musyoka', 'Mutiso', 'Kioko', 'Mwikali', 'Ndambuki', 'Kilonzo', 'Muli', 'Nzioka', 'Wambua',
  'Nyamweya', 'Ongeri', 'Momanyi', 'Nyaboke', 'Onsongo', 'Mogaka', 'Kerubo', 'Ombati', 'Moraa', 'Bosire',
  'Mwiti', 'Kirimi', 'Murithi', 'Gitonga', 'Kinoti', 'Mugambi', 'Kaimenyi', 'Mutuma', 'Kiogora', 'Muriuki',
  'Hassan', 'Mohamed', 'Abdi', 'Ali', 'Omar', 'Juma', 'Said', 'Bakari', 'Mwinyi', 'Salim',
  'Chege', 'Githinji', 'Kinyua', 'Macharia', 'Ngugi', 'Waweru', 'Mbugua', 'Njenga', 'Nduati', 'Kahara',
  'Ole Sankale', 'Lemayian', 'Saitoti', 'Kereto', 'Leshan', 'Ekai', 'Lokwawi', 'Ewoton', 'Lotuliapus', 'Ekaran',
] as const;

export const AREAS = [
  'Kibera', 'Kawangware', 'Kayole', 'Embakasi', 'Umoja', 'Githurai', 'Kasarani', 'Roysambu', 'Langata', 'Westlands',
  'Eastleigh', 'Mathare', 'Dandora', 'Ruaka', 'Kikuyu', 'Thika', 'Ruiru', 'Kitengela', 'Ongata Rongai', 'Ngong',
  'Kisumu', 'Kondele', 'Nyalenda', 'Mombasa', 'Likoni', 'Nyali', 'Nakuru', 'Eldoret', 'Kakamega', 'Bungoma',
  'Machakos', 'Kitui', 'Nyeri', 'Murang\'a', 'Meru', 'Embu', 'Kisii', 'Kericho', 'Garissa', 'Malindi',
] as const;

export const COMPLAINTS = [
  'Fever and headache for 3 days', 'Cough and difficulty breathing', 'Abdominal pain', 'Diarrhoea and vomiting',
  'Joint pains', 'Skin rash', 'Follow-up: hypertension', 'Follow-up: diabetes', 'Antenatal visit', 'Child immunisation',
  'Painful urination', 'Back pain', 'Eye irritation', 'Ear ache', 'Sore throat', 'Injury to the hand',
] as const;

/** ICD-11 MMS codes seen daily at a Kenyan outpatient clinic. */
export const DIAGNOSES = [
  { code: '1F40.Z', description: 'Malaria due to Plasmodium falciparum, unspecified' },
  { code: 'CA40.Z', description: 'Pneumonia, organism unspecified' },
  { code: 'CA00', description: 'Acute nasopharyngitis' },
  { code: '1A40.Z', description: 'Infectious gastroenteritis or colitis without specification of infectious agent' },
  { code: 'BA00.Z', description: 'Essential hypertension, unspecified' },
  { code: '5A11', description: 'Type 2 diabetes mellitus' },
  { code: 'GC08.Z', description: 'Urinary tract infection, site not specified' },
  { code: 'ME84.2', description: 'Low back pain' },
  { code: 'EA80.Z', description: 'Atopic eczema, unspecified' },
  { code: '9A60.Z', description: 'Conjunctivitis, unspecified' },
] as const;

/** SHA intervention codes as used on claims (illustrative tariff lines). */
export const INTERVENTIONS = [
  { code: 'SHA-01-001', description: 'Outpatient consultation', price: 1500 },
  { code: 'SHA-07-014', description: 'Malaria rapid diagnostic test', price: 250 },
  { code: 'SHA-07-020', description: 'Full haemogram', price: 800 },
  { code: 'SHA-07-031', description: 'Urinalysis', price: 400 },
  { code: 'SHA-09-002', description: 'Outpatient medication (per prescription)', price: 1200 },
  { code: 'SHA-05-010', description: 'Chest X-ray', price: 2500 },
] as const;
