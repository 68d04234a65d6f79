import { useId, useState } from 'react';
import type { Problem, Role, User } from '../api/client';
import { ProblemAlert } from '../components/problem-alert';
import { ROLES } from './users.state';

const CALL_DETAIL_LEVELS = ['full', 'no_caller', 'no_call'] as const;

export interface UserFormValues {
  username: string;
  name: string;
  email: string;
  phone: string;
  call_detail_level: User['call_detail_level'];
  roles: Role[];
  restrict_recording_download: boolean;
}

export const EMPTY_USER: UserFormValues = {
  username: '',
  name: '',
  email: '',
  phone: '',
  call_detail_level: 'full',
  roles: [],
  restrict_recording_download: false,
};

export const formValuesOf = (user: User): UserFormValues => ({
  username: user.username,
  name: user.name,
  email: user.email,
  phone: user.phone,
  call_detail_level: user.call_detail_level,
  roles: [...user.roles],
  restrict_recording_download: user.restrict_recording_download,
});

type Field = keyof UserFormValues;

/** The form field a problem item names ("/roles/2" → roles); undefined for one the form does not show. */
function fieldOf(pointer: string | undefined): Field | undefined {
  const name = pointer?.split('/')[1];
  return name && name in EMPTY_USER ? (name as Field) : undefined;
}

/** A 400's errors by the field they name; the rest stay in the problem's detail. */
function fieldErrorsOf(problem: Problem | null): Partial<Record<Field, string>> {
  const errors: Partial<Record<Field, string>> = {};
  for (const item of problem?.errors ?? []) {
    const field = fieldOf(item.pointer);
    if (field) errors[field] = errors[field] ? `${errors[field]}; ${item.message}` : item.message;
  }
  return errors;
}

interface UserFormProps {
  readonly initial: UserFormValues;
  /** Create shows the Username field and a "Create" button; edit a "Save" button. */
  readonly mode: 'create' | 'edit';
  readonly problem: Problem | null;
  readonly busy: boolean;
  readonly onSubmit: (values: UserFormValues) => void;
  /** Shown inside the alert (e.g. "Reload" after a 412). */
  readonly alertAction?: React.ReactNode;
  readonly onCancel?: () => void;
}

/** The user form of Edit and New user: each 400 error appears next to the field it names. */
export function UserForm({ initial, mode, problem, busy, onSubmit, alertAction, onCancel }: UserFormProps) {
  const [values, setValues] = useState(initial);
  const errors = fieldErrorsOf(problem);
  const base = useId();
  const set = <K extends Field>(key: K, value: UserFormValues[K]) => setValues((v) => ({ ...v, [key]: value }));

  const textField = (key: 'username' | 'name' | 'email' | 'phone', label: string, type = 'text') => (
    <div className="field">
      <label htmlFor={`${base}-${key}`}>{label}</label>
      <input
        id={`${base}-${key}`}
        type={type}
        value={values[key]}
        onChange={(e) => set(key, e.target.value)}
        aria-invalid={errors[key] ? true : undefined}
        aria-describedby={errors[key] ? `${base}-${key}-error` : undefined}
      />
      {errors[key] && (
        <p className="field-error" id={`${base}-${key}-error`}>
          {errors[key]}
        </p>
      )}
    </div>
  );

  return (
    <form
      className="user-form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit(values);
      }}
    >
      <ProblemAlert problem={problem}>{alertAction}</ProblemAlert>
      {mode === 'create' && textField('username', 'Username')}
      {textField('name', 'Name')}
      {textField('email', 'Email', 'email')}
      {textField('phone', 'Phone', 'tel')}
      <div className="field">
        <label htmlFor={`${base}-cdl`}>Call detail level</label>
        <select
          id={`${base}-cdl`}
          value={values.call_detail_level}
          onChange={(e) => set('call_detail_level', e.target.value as UserFormValues['call_detail_level'])}
          aria-invalid={errors.call_detail_level ? true : undefined}
        >
          {CALL_DETAIL_LEVELS.map((level) => (
            <option key={level} value={level}>
              {level}
            </option>
          ))}
        </select>
      </div>
      <fieldset aria-describedby={errors.roles ? `${base}-roles-error` : undefined}>
        <legend>Roles</legend>
        {ROLES.map((role) => (
          <label key={role} className="check">
            <input
              type="checkbox"
              checked={values.roles.includes(role)}
              aria-invalid={errors.roles ? true : undefined}
              onChange={(e) =>
                set('roles', e.target.checked ? [...values.roles, role] : values.roles.filter((r) => r !== role))
              }
            />
            {role}
          </label>
        ))}
        {errors.roles && (
          <p className="field-error" id={`${base}-roles-error`}>
            {errors.roles}
          </p>
        )}
      </fieldset>
      <label className="check">
        <input
          type="checkbox"
          checked={values.restrict_recording_download}
          onChange={(e) => set('restrict_recording_download', e.target.checked)}
        />
        Restrict recording download
      </label>
      <div className="actions">
        <button type="submit" disabled={busy}>
          {mode === 'create' ? 'Create' : 'Save'}
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
